//! Requests and responses around a protocol's bodies: the header both protocols carry
//! (VER, ADR, CID1, and CID2 as the command or the return code), the frame conversions in
//! both roles, the stream protocol of requests, and the address and command half of the
//! pairing rule (the module half is [`crate::block`]'s).

use core::marker::PhantomData;

use voltwire_core::{EncodeError, Framing, Protocol, Scan};

use crate::{AsciiHex, Error, Frame, Info, MAX_INFO_LEN, Rtn};

/// What a request or response body provides, for frames of up to `N` INFO bytes (the
/// capacity of [`Body::undecoded`]'s INFO; default [`MAX_INFO_LEN`], any frame).
pub trait Body<const N: usize = MAX_INFO_LEN>: Sized {
    /// The command code (a request's CID2; the command a response answers).
    fn command(&self) -> u8;

    /// Decode INFO of command `cid2`; `None` for a shape the protocol does not know.
    fn decode(cid2: u8, info: &[u8]) -> Option<Self>;

    /// The body kept as sent: a shape the protocol does not know, or a reply with an error
    /// RTN.
    fn undecoded(cid2: u8, info: Info<N>) -> Self;

    /// The INFO bytes.
    ///
    /// # Errors
    /// [`EncodeError`] when a value does not fit its wire field or INFO exceeds `N` bytes.
    fn info(&self) -> Result<Info<N>, EncodeError>;

    /// Decode INFO of command `cid2`; total: shapes not known become [`Body::undecoded`].
    /// Callers hand it INFO of at most `N` bytes (a `Frame<N>`'s, or any parsed frame's for
    /// the default `N`); a longer one could only be kept as an empty undecoded body.
    fn parse(cid2: u8, info: &[u8]) -> Self {
        Self::decode(cid2, info)
            .unwrap_or_else(|| Self::undecoded(cid2, Info::from_slice(info).unwrap_or_default()))
    }
}

/// What a protocol's request body adds: the header of a new request. `N` is the capacity
/// of the body's undecoded INFO (default [`MAX_INFO_LEN`], any frame).
pub trait RequestBody<const N: usize = MAX_INFO_LEN>: Body<N> {
    /// The protocol version a new request carries (VER).
    const VER: u8;
    /// The device type a new request carries (CID1).
    const CID1: u8;
}

/// What a protocol's response body adds: the request it answers.
pub trait ResponseBody<const N: usize = MAX_INFO_LEN>: Body<N> {
    /// The request body this answers, with undecoded INFO of up to `K` bytes.
    type Request<const K: usize>: RequestBody<K>;

    /// Whether this body answers `request` of the same command (e.g. the same module).
    fn answers_body<const K: usize>(&self, request: &Self::Request<K>) -> bool;
}

/// A request frame.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Request<B> {
    /// Protocol version.
    pub ver: u8,
    /// Device address.
    pub adr: u8,
    /// Device type.
    pub cid1: u8,
    /// The command and its INFO.
    pub body: B,
}

impl<B> Request<B> {
    /// A request with the protocol's VER and CID1.
    pub const fn new<const N: usize>(adr: u8, body: B) -> Self
    where
        B: RequestBody<N>,
    {
        Self {
            ver: B::VER,
            adr,
            cid1: B::CID1,
            body,
        }
    }

    /// The command code (CID2).
    pub fn command<const N: usize>(&self) -> u8
    where
        B: Body<N>,
    {
        Body::command(&self.body)
    }

    /// Read a request from a frame of the body's capacity `N` (device side):
    /// `SizedRequest::<32>::from_frame_sized(&Frame::<32>::parse_sized(bytes)?)`. Total: the
    /// body's INFO holds the frame's; a frame with more INFO than `N` is refused earlier, by
    /// [`Frame::parse_sized`] ([`Error::Capacity`]), so nothing is cut.
    pub fn from_frame_sized<const N: usize>(frame: &Frame<N>) -> Self
    where
        B: RequestBody<N>,
    {
        Self {
            ver: frame.ver,
            adr: frame.adr,
            cid1: frame.cid1,
            body: B::parse(frame.cid2, &frame.info),
        }
    }

    /// The request as a frame of capacity `N` (host side), for a body of capacity `N`.
    ///
    /// # Errors
    /// [`EncodeError`] when a value does not fit its wire field or INFO exceeds `N` bytes.
    pub fn to_frame_sized<const N: usize>(&self) -> Result<Frame<N>, EncodeError>
    where
        B: RequestBody<N>,
    {
        Frame::new_sized(
            self.ver,
            self.adr,
            self.cid1,
            Body::command(&self.body),
            &self.body.info()?,
        )
    }
}

impl<B: RequestBody> Request<B> {
    /// Read a request from a frame of any capacity (device side). Total: the body's INFO
    /// holds any frame's.
    pub fn from_frame<const F: usize>(frame: &Frame<F>) -> Self {
        Self {
            ver: frame.ver,
            adr: frame.adr,
            cid1: frame.cid1,
            body: B::parse(frame.cid2, &frame.info),
        }
    }

    /// The request as a frame (host side).
    ///
    /// # Errors
    /// [`EncodeError`] when a value does not fit its wire field.
    pub fn to_frame(&self) -> Result<Frame, EncodeError> {
        Frame::new(
            self.ver,
            self.adr,
            self.cid1,
            Body::command(&self.body),
            &self.body.info()?,
        )
    }
}

/// A response frame.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Response<B> {
    /// Protocol version (echoed; for 0x4F the version the device speaks).
    pub ver: u8,
    /// Device address, echoed from the request.
    pub adr: u8,
    /// Device type.
    pub cid1: u8,
    /// Return code: [`Rtn::Normal`] for data replies (an echo of the command here makes
    /// inverters reject a Pylontech reply, Battery-Emulator #3001; Pace answers 0x09 when it
    /// refuses an operation).
    pub rtn: Rtn,
    /// What it carries.
    pub body: B,
}

impl<B> Response<B> {
    /// A successful reply (the protocol's VER and CID1, RTN 0) from device `adr`.
    pub const fn ok<const N: usize>(adr: u8, body: B) -> Self
    where
        B: ResponseBody<N>,
    {
        Self {
            ver: <<B as ResponseBody<N>>::Request<MAX_INFO_LEN> as RequestBody>::VER,
            adr,
            cid1: <<B as ResponseBody<N>>::Request<MAX_INFO_LEN> as RequestBody>::CID1,
            rtn: Rtn::Normal,
            body,
        }
    }

    /// The command this response answers.
    pub fn command<const N: usize>(&self) -> u8
    where
        B: Body<N>,
    {
        Body::command(&self.body)
    }

    /// Read a reply to `command` (host side) from a frame of the body's capacity `N`
    /// (`Frame` for the default `Response`). Total: an error RTN or an INFO that does not
    /// fit gives the body's undecoded form.
    pub fn from_frame<const N: usize>(frame: &Frame<N>, command: u8) -> Self
    where
        B: Body<N>,
    {
        let rtn = frame.rtn();
        let body = if rtn.is_ok() {
            B::parse(command, &frame.info)
        } else {
            B::undecoded(command, frame.info.clone())
        };
        Self {
            ver: frame.ver,
            adr: frame.adr,
            cid1: frame.cid1,
            rtn,
            body,
        }
    }

    /// The reply as a frame (device side / simulator).
    ///
    /// # Errors
    /// [`EncodeError`] when a value does not fit its wire field.
    pub fn to_frame<const N: usize>(&self) -> Result<Frame<N>, EncodeError>
    where
        B: Body<N>,
    {
        Frame::new_sized(
            self.ver,
            self.adr,
            self.cid1,
            self.rtn.code(),
            &self.body.info()?,
        )
    }

    /// Whether this response is a plausible answer to `request`: the same address and
    /// command, and the body's own check (for 0x42/0x44 the pairing rule of
    /// [`crate::block`]). A reply with an error RTN answers any request to its address with
    /// the same command. The request may be of any capacity `K`.
    pub fn answers<const N: usize, const K: usize>(&self, request: &Request<B::Request<K>>) -> bool
    where
        B: ResponseBody<N>,
    {
        self.adr == request.adr
            && Body::command(&self.body) == Body::command(&request.body)
            && self.body.answers_body(&request.body)
    }
}

/// Requests as a [`Protocol`], for a stream decoder on the device side:
/// `ScanDecoder<Requests<B>, { MAX_FRAME_LEN }>`. `N` is the capacity of the requests'
/// INFO (the body's, default [`MAX_INFO_LEN`]): a valid request with more INFO is the
/// decoder's [`Error::Capacity`] item, never cut.
pub struct Requests<B, const N: usize = MAX_INFO_LEN>(PhantomData<fn() -> B>);

impl<B, const N: usize> Default for Requests<B, N> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<B, const N: usize> Clone for Requests<B, N> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<B, const N: usize> Copy for Requests<B, N> {}

impl<B, const N: usize> core::fmt::Debug for Requests<B, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Requests")
    }
}

impl<B, const N: usize> Framing for Requests<B, N> {
    const MAX_FRAME_LEN: usize = crate::MAX_FRAME_LEN;

    fn scan(buf: &[u8]) -> Scan {
        <AsciiHex>::scan(buf)
    }
}

impl<B: RequestBody<N>, const N: usize> Protocol for Requests<B, N> {
    type Message = Request<B>;
    type Error = Error;

    fn parse(frame: &[u8]) -> Result<Request<B>, Error> {
        Frame::<N>::parse_sized(frame).map(|f| Request::from_frame_sized(&f))
    }
}
