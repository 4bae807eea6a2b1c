//! The "4E 57" frame: envelope, scanner, and the message it carries.
//!
//! ```text
//! offset  size  field
//! 0       2     start 4E 57 ("NW")
//! 2       2     length, u16 BE: bytes from offset 2 to the end (total = length + 2)
//! 4       4     BMS terminal number, u32 BE (0 in every capture)
//! 8       1     command word (echoed by the reply)
//! 9       1     frame source (0 BMS, 1 Bluetooth, 2 GPS, 3 PC)
//! 10      1     transport type (0 request, 1 reply, 2 active upload)
//! 11      n     info: request = one data ID (+ value for writes); reply = ID value ...
//! end-9   4     record number, u32 BE (0 in every capture)
//! end-5   1     end marker 0x68
//! end-4   2     "CRC high part", 0x0000 on the wire (kept as `Header::reserved`)
//! end-2   2     checksum, u16 BE: 16-bit sum of every byte before it
//! ```

use voltwire_core::checksum::sum16;
use voltwire_core::{Emit, EncodeError, Framing, Protocol, Scan};

use crate::error::Error;
use crate::record::Record;

/// Start marker.
pub const START: [u8; 2] = [0x4E, 0x57];
/// End marker, 5 bytes before the end.
pub const END_MARKER: u8 = 0x68;
/// Bytes before the info field.
pub const HEADER_LEN: usize = 11;
/// Bytes after the info field (record number, end marker, reserved, checksum).
pub const TRAILER_LEN: usize = 9;
/// The longest frame we accept. A read-all reply of 24 cells is about 300 bytes; the cell
/// block alone can reach 257 bytes (85 cells). A candidate declaring more is noise.
pub const MAX_FRAME_LEN: usize = 1024;
/// Longest info field ([`MAX_FRAME_LEN`] minus envelope).
pub const MAX_INFO_LEN: usize = MAX_FRAME_LEN - HEADER_LEN - TRAILER_LEN;
/// Smallest legal length field (empty info).
pub const MIN_LENGTH_FIELD: u16 = 18;

voltwire_core::code_enum! {
    /// Command word (offset 8). The reply echoes the request's command.
    pub enum Command(u8) {
        /// 0x01: activate a sleeping BMS.
        Activate = 0x01 => "activate",
        /// 0x02: write one data ID.
        Write = 0x02 => "write",
        /// 0x03: read one data ID (mpp-solar sends it with ID 0x00 and gets everything).
        Read = 0x03 => "read",
        /// 0x05: parameter password (send before a write).
        Password = 0x05 => "password",
        /// 0x06: read all data.
        ReadAll = 0x06 => "read_all",
    }
}

voltwire_core::code_enum! {
    /// Frame source (offset 9).
    pub enum FrameSource(u8) {
        /// 0: the BMS.
        Bms = 0x00 => "bms",
        /// 1: Bluetooth.
        Bluetooth = 0x01 => "bluetooth",
        /// 2: GPS port.
        Gps = 0x02 => "gps",
        /// 3: PC (mr-manuel and mpp-solar send this; syssi sends GPS).
        Pc = 0x03 => "pc",
    }
}

voltwire_core::code_enum! {
    /// Transport type (offset 10).
    pub enum Transport(u8) {
        /// 0: request.
        Request = 0x00 => "request",
        /// 1: reply.
        Reply = 0x01 => "reply",
        /// 2: active upload by the BMS.
        Upload = 0x02 => "upload",
    }
}

/// Every envelope field except the info.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// BMS terminal number (top byte management number, low 3 bytes ID). Wire: u32 BE @ 4.
    pub terminal: u32,
    /// Command word. Wire: u8 @ 8.
    pub command: Command,
    /// Frame source. Wire: u8 @ 9.
    pub source: FrameSource,
    /// Transport type. Wire: u8 @ 10.
    pub transport: Transport,
    /// Record number (top byte random, low 3 bytes counter). Wire: u32 BE @ end−9.
    pub record_number: u32,
    /// The two bytes before the checksum ("CRC high part"), 0 on the wire. Wire: u16 BE @ end−4.
    pub reserved: u16,
}

impl Header {
    /// A request header: terminal 0, source PC, record number 0.
    pub const fn request(command: Command) -> Self {
        Self {
            terminal: 0,
            command,
            source: FrameSource::Pc,
            transport: Transport::Request,
            record_number: 0,
            reserved: 0,
        }
    }

    /// A reply header as a BMS sends it: terminal 0, source BMS, transport reply.
    pub const fn reply(command: Command) -> Self {
        Self {
            terminal: 0,
            command,
            source: FrameSource::Bms,
            transport: Transport::Reply,
            record_number: 0,
            reserved: 0,
        }
    }
}

/// The info field.
#[allow(
    clippy::large_enum_variant,
    reason = "no_std without alloc: no Box; one message per frame"
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Info {
    /// A request naming one data ID (0x00 = all): read, read-all, activate. Chosen for a
    /// request (transport 0) that is not a write and whose info is exactly one byte.
    Id(u8),
    /// Data records: replies, uploads, write requests (`ID value`), password requests.
    Records(Record),
}

/// One "4E 57" frame, decoded: a request or a reply (both directions).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Envelope fields.
    pub header: Header,
    /// The info field.
    pub info: Info,
}

impl Message {
    /// The read-all request (`… 06 03 00 00 …`, checksum 0x0129).
    pub const fn read_all() -> Self {
        Self {
            header: Header::request(Command::ReadAll),
            info: Info::Id(0),
        }
    }

    /// A request to read one data ID.
    pub const fn read(id: u8) -> Self {
        Self {
            header: Header::request(Command::Read),
            info: Info::Id(id),
        }
    }

    /// A write request carrying the fields set in `record` (normally exactly one, such as
    /// [`Record::charge_mos_switch`]).
    pub const fn write(record: Record) -> Self {
        Self {
            header: Header::request(Command::Write),
            info: Info::Records(record),
        }
    }

    /// A read-all reply as a BMS (or a simulator) sends it.
    pub const fn reply(record: Record) -> Self {
        Self {
            header: Header::reply(Command::ReadAll),
            info: Info::Records(record),
        }
    }

    /// The records, when the info field holds records.
    pub fn record(&self) -> Option<&Record> {
        match &self.info {
            Info::Records(r) => Some(r),
            Info::Id(_) => None,
        }
    }

    /// Decode one complete frame (`frame` must be exactly one frame).
    ///
    /// # Errors
    /// Any [`Error`] of [`check_frame`], and [`Error::Truncated`] when `frame` is longer than
    /// the frame it holds.
    pub fn parse(frame: &[u8]) -> Result<Self, Error> {
        let len = check_frame(frame)?;
        if len != frame.len() {
            return Err(Error::Truncated {
                needed: len,
                have: frame.len(),
            });
        }
        let (head, rest) = frame.split_at_checked(HEADER_LEN).ok_or(Error::Truncated {
            needed: HEADER_LEN,
            have: frame.len(),
        })?;
        let (info, trailer) = rest
            .split_at_checked(rest.len().saturating_sub(TRAILER_LEN))
            .ok_or(Error::Truncated {
                needed: len,
                have: frame.len(),
            })?;
        let (
            [_, _, _, _, t0, t1, t2, t3, command, source, transport],
            [r0, r1, r2, r3, _, z0, z1, _, _],
        ) = (head, trailer)
        else {
            return Err(Error::Truncated {
                needed: len,
                have: frame.len(),
            });
        };
        let header = Header {
            terminal: u32::from_be_bytes([*t0, *t1, *t2, *t3]),
            command: Command::from(*command),
            source: FrameSource::from(*source),
            transport: Transport::from(*transport),
            record_number: u32::from_be_bytes([*r0, *r1, *r2, *r3]),
            reserved: u16::from_be_bytes([*z0, *z1]),
        };
        let info = match info {
            [id] if header.transport == Transport::Request && header.command != Command::Write => {
                Info::Id(*id)
            }
            _ => Info::Records(Record::parse_info(info)),
        };
        Ok(Self { header, info })
    }

    fn info_len(&self) -> usize {
        match &self.info {
            Info::Id(_) => 1,
            Info::Records(r) => r.info_len(),
        }
    }
}

impl Emit for Message {
    fn buffer_len(&self) -> usize {
        HEADER_LEN + self.info_len() + TRAILER_LEN
    }

    /// Write the frame with its length, end marker and checksum.
    fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let total = self.buffer_len();
        if total > MAX_FRAME_LEN {
            return Err(EncodeError::OutOfRange { field: "info" });
        }
        let have = out.len();
        let out = out.get_mut(..total).ok_or(EncodeError::BufferTooSmall {
            needed: total,
            have,
        })?;
        let h = &self.header;
        let [l0, l1] = u16::try_from(total - 2)
            .map_err(|_| EncodeError::OutOfRange { field: "info" })?
            .to_be_bytes();
        let [t0, t1, t2, t3] = h.terminal.to_be_bytes();
        let head = [
            START[0],
            START[1],
            l0,
            l1,
            t0,
            t1,
            t2,
            t3,
            h.command.into(),
            h.source.into(),
            h.transport.into(),
        ];
        let (head_out, rest) = out.split_at_mut(HEADER_LEN);
        head_out.copy_from_slice(&head);
        let info_len = self.info_len();
        let (info_out, trailer_out) = rest.split_at_mut(info_len);
        match &self.info {
            Info::Id(id) => {
                if let Some(b) = info_out.first_mut() {
                    *b = *id;
                }
            }
            Info::Records(r) => {
                r.emit_info(info_out)?;
            }
        }
        let [r0, r1, r2, r3] = h.record_number.to_be_bytes();
        let [z0, z1] = h.reserved.to_be_bytes();
        let trailer_head = [r0, r1, r2, r3, END_MARKER, z0, z1];
        if let Some(t_out) = trailer_out.get_mut(..TRAILER_LEN - 2) {
            t_out.copy_from_slice(&trailer_head);
        }
        let sum = sum16(out.get(..total - 2).unwrap_or_default());
        if let Some(s) = out.get_mut(total - 2..total) {
            s.copy_from_slice(&sum.to_be_bytes());
        }
        Ok(total)
    }
}

/// Check the candidate frame at the start of `buf`: start marker, length range, end marker
/// and checksum. Returns the frame's length.
///
/// # Errors
/// [`Error::NoStart`], [`Error::Truncated`] (when more bytes could complete it),
/// [`Error::BadLength`], [`Error::BadEndMarker`], [`Error::Checksum`].
pub fn check_frame(buf: &[u8]) -> Result<usize, Error> {
    match buf {
        [0x4E, 0x57, l0, l1, ..] => {
            let declared = u16::from_be_bytes([*l0, *l1]);
            let total = usize::from(declared) + 2;
            if declared < MIN_LENGTH_FIELD || total > MAX_FRAME_LEN {
                return Err(Error::BadLength { declared });
            }
            let frame = buf.get(..total).ok_or(Error::Truncated {
                needed: total,
                have: buf.len(),
            })?;
            let found_end = frame.get(total - 5).copied().unwrap_or(0);
            if found_end != END_MARKER {
                return Err(Error::BadEndMarker { found: found_end });
            }
            let (body, sum) = frame.split_at(total - 2);
            let computed = sum16(body);
            let found = match sum {
                [a, b] => u16::from_be_bytes([*a, *b]),
                _ => 0,
            };
            if computed != found {
                return Err(Error::Checksum { computed, found });
            }
            Ok(total)
        }
        [0x4E, 0x57, ..] | [0x4E] => Err(Error::Truncated {
            needed: 4,
            have: buf.len(),
        }),
        _ => Err(Error::NoStart),
    }
}

/// Find the next frame in `buf` when no more bytes will follow (the end of a capture): a
/// candidate cut off by the end is skipped instead of waited for. Returns `(skip, len)`.
pub fn scan_final(buf: &[u8]) -> Option<(usize, usize)> {
    (0..buf.len()).find_map(|start| {
        let rest = buf.get(start..)?;
        check_frame(rest).ok().map(|len| (start, len))
    })
}

/// The "4E 57" framing: [`Framing`] and [`Protocol`] for [`voltwire_core::ScanDecoder`]
/// (see [`crate::JkDecoder`]).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, Default)]
pub struct JkFraming;

impl Framing for JkFraming {
    const MAX_FRAME_LEN: usize = MAX_FRAME_LEN;

    fn scan(buf: &[u8]) -> Scan {
        let mut start = 0;
        while let Some(rest) = buf.get(start..) {
            let Some(off) = rest.iter().position(|&b| b == START[0]) else {
                break;
            };
            start += off;
            match check_frame(buf.get(start..).unwrap_or_default()) {
                Ok(len) => return Scan::Frame { skip: start, len },
                Err(Error::Truncated { .. }) => return Scan::Incomplete { skip: start },
                Err(_) => start += 1,
            }
        }
        Scan::Incomplete { skip: buf.len() }
    }
}

impl Protocol for JkFraming {
    type Message = Message;
    type Error = Error;

    fn parse(frame: &[u8]) -> Result<Message, Error> {
        Message::parse(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The read-all request, annotated.
    const READ_ALL: [u8; 21] = [
        0x4E, 0x57, // start
        0x00, 0x13, // length 19
        0x00, 0x00, 0x00, 0x00, // terminal
        0x06, // command: read all
        0x03, // source: PC
        0x00, // transport: request
        0x00, // info: data ID 0 (all)
        0x00, 0x00, 0x00, 0x00, // record number
        0x68, // end marker
        0x00, 0x00, // reserved
        0x01, 0x29, // checksum
    ];

    #[test]
    fn parse_read_all() {
        let m = Message::parse(&READ_ALL).unwrap();
        assert_eq!(m, Message::read_all());
        assert_eq!(m.header.command.name(), Some("read_all"));
    }

    #[test]
    fn emit_read_all() {
        let mut out = [0; 32];
        let n = Message::read_all().emit(&mut out).unwrap();
        assert_eq!(&out[..n], &READ_ALL);
        assert_eq!(
            Message::read_all().emit(&mut out[..20]),
            Err(EncodeError::BufferTooSmall {
                needed: 21,
                have: 20
            })
        );
    }

    #[test]
    fn write_charge_mos_off() {
        let m = Message::write(Record {
            charge_mos_switch: Some(0),
            ..Record::new()
        });
        let mut out = [0; 32];
        let n = m.emit(&mut out).unwrap();
        // The frame of syssi PR #343 with the checksum the fixed code computes.
        let mut expected = [
            0x4E, 0x57, 0x00, 0x14, 0, 0, 0, 0, 0x02, 0x03, 0x00, 0xAB, 0x00, 0, 0, 0, 0, 0x68, 0,
            0, 0x01, 0xD1,
        ];
        assert_eq!(&out[..n], &expected);
        assert_eq!(Message::parse(&expected), Ok(m));
        // The captured frame (source GPS, 0x68 left out of the sum) is rejected.
        expected[9] = 0x02;
        expected[21] = 0x68;
        assert_eq!(
            check_frame(&expected),
            Err(Error::Checksum {
                computed: 0x01D0,
                found: 0x0168
            })
        );
    }

    #[test]
    fn scan_resyncs() {
        let mut buf = std::vec![0x4E, 0x4E, 0x57, 0xFF, 0xFF, 0x00];
        buf.extend_from_slice(&READ_ALL);
        assert_eq!(JkFraming::scan(&buf), Scan::Frame { skip: 6, len: 21 });
        assert_eq!(
            JkFraming::scan(&READ_ALL[..10]),
            Scan::Incomplete { skip: 0 }
        );
        assert_eq!(JkFraming::scan(&[1, 2, 0x4E]), Scan::Incomplete { skip: 2 });
        assert_eq!(JkFraming::scan(&[1, 2, 3]), Scan::Incomplete { skip: 3 });
    }
}
